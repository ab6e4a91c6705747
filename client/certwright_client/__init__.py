"""The client side of Certwright (the `certwright` command and its host agent), shipped outside the Lambda layer."""
