"""tickwork codec: messages as msgspec Structs and a MessagePack Protocol registry."""
