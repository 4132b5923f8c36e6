"""The operators', admins' and analysts' Streamlit app."""

__all__: list[str] = []
