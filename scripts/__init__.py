"""Development tools (launcher, embedded Orthanc, demo data); the app package never imports them."""
