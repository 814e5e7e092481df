"""Generated from specs/lithtrix.json by `pentapi generate`. Do not edit."""
