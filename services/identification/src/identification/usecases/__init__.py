"""What identification does when asked: record a screening, a decision, a consent;
announce the decisions gone overdue."""
