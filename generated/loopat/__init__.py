"""Generated from specs/loopat.json by `pentapi generate`. Do not edit."""
