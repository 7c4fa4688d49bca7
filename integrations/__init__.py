"""Adapters to the world outside: WeChat, Modbus/TCP gates, SMS, printers, ID-card readers."""
