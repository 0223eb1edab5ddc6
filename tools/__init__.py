"""Developer tools (not tests): a real Home Assistant driver, the demo and the screenshots."""
