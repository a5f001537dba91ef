"""What a Django Channels 4.3 user's own tests can observe, pinned page by page.

Each module follows one page of Channels' documentation. A test here passes
on Channels 4.3 (with the imports renamed) and must keep passing here: it is
the contract behind "rename ``channels`` to ``channels_lite``". Deliberate
differences are listed in ``docs/migrating-from-channels.rst`` instead.
"""
