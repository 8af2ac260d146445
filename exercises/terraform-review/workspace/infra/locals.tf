locals {
  # <project>-<environment>, the prefix of every resource name (see CONVENTIONS.md).
  name_prefix = "${var.project}-${var.environment}"

  common_tags = {
    Project     = var.project
    Environment = var.environment
    Owner       = var.owner
  }
#@ if secret_in=locals

  # Postgres master password, shared with the app through the parameter store.
  db_master_password = "@@SECRET@@"
#@ end
}
