"""Generated from specs/loup.json by `pentapi generate`. Do not edit."""
