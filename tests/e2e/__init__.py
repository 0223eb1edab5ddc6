"""End-to-end tests and tools driving a real Home Assistant process (see `ha_driver.py`)."""
