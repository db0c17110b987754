"""dlt sources: the LiveChat Reports source and its API emulator."""
