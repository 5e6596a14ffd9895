"""`python -m tagger` runs the command line."""

from tagger.cli import main

if __name__ == "__main__":
    main()
