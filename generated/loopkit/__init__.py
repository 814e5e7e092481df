"""Generated from specs/loopkit.json by `pentapi generate`. Do not edit."""
