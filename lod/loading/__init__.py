"""Load stage: data files parsed, checked and resolved into a Dataset."""
