"""`verify --serve`: whether each graph serves (its model listed, chat completions answered and
timed, its router routing), against a deployed stack through port-forwards or a local run."""
