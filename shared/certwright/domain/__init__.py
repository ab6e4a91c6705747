"""Pure domain: values, entities and rules; no AWS, no environment, no clock (time is passed in)."""
