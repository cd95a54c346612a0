"""JSON schema files for the tap's streams, one `<stream name>.json` per stream."""

from importlib.resources import files

from singer_sdk import SchemaDirectory

SCHEMAS_DIR = SchemaDirectory(files(__name__))
