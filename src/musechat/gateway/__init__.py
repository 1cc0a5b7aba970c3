"""The gateway: public REST API (/v1), authentication, validation, conversation orchestration."""
