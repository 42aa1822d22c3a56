"""The web app's building blocks: the only package code that imports streamlit.

``data`` is the cached read-only data layer over ``newsintel.store.dashboard``;
``charts`` builds Altair charts; ``text`` turns feed text and digest content into safe
Markdown; ``params`` keeps filters in the URL; ``auth`` is the optional sign-in (OIDC
or password); ``guard`` maps our errors to friendly messages; ``context`` hands Settings to pages;
``snapshot`` holds the read snapshot of a page load and says how fresh it is;
``throttle`` slows down repeated failed sign-ins.
Pages in ``app_pages/`` compose these and hold no SQL and no model calls.
"""
