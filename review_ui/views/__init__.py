"""The app's pages, routed by `review_ui/app.py`; each renders itself when run as a page and
exposes `render()` when imported.

The folder is `views/`, not `pages/`: a `pages/` folder beside the entry point switches
Streamlit to its legacy multipage mode, which breaks AppTest reruns under st.navigation.
"""
