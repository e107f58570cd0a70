"""The Streamlit app: thin pages over needmap, plus the one module that caches (``state``)."""
