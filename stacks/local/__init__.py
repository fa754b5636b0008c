"""Run a stack's mocker graphs on this machine as the real Dynamo processes of its release
(`python -m stacks local`), with what the plan renders: the runtime venvs, the model directory, the
rendered components, their transposition and the processes."""
