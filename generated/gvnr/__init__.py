"""Generated from specs/gvnr.json by `pentapi generate`. Do not edit."""
