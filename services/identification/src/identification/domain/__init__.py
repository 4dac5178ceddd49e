"""Identification's pure rules: ages and birth dates, the presumptive assessment, the
Competent Authority's decisions and their deadlines, the victim profile announced, the
statistics' tabulation. Nothing here reaches the web, the database or the broker."""
