"""`python -m sidecar` runs the command-line interface."""

from sidecar.cli.entry import main

if __name__ == "__main__":
    main()
