//! Files on disk: the paths named on the command line, walked with `.gitignore` respected.
