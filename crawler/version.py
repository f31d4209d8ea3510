"""The tool's name and version, recorded in every run."""

VERSION = "0.1.0"
TOOL = {"name": "naysayer", "version": VERSION}
