"""`python -m stacks plan`: the offline plan (`command`), the mock runner (`mockrun`) and its files (`artifacts`)."""
