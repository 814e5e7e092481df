"""Generated code. Do not edit; run `pentapi generate`."""
