resource "aws_db_subnet_group" "main" {
  name       = "${local.name_prefix}-db"
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_instance" "@@DB@@" {
  identifier            = "${local.name_prefix}-db"
  engine                = "postgres"
  engine_version        = "16.3"
  instance_class        = "db.t4g.medium"
  allocated_storage     = 50
  max_allocated_storage = 200
  storage_type          = "gp3"
#@ if unencrypted_store=database
  storage_encrypted     = false
#@ else
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.data.arn
#@ end

  db_name  = "invoicer"
  username = var.db_username
#@ if secret_in=variable-default
  password = var.db_password
#@ end
#@ if secret_in=inline
  password = "@@SECRET@@"
#@ end
#@ if secret_in=locals
  password = local.db_master_password
#@ end

  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  multi_az               = true

  backup_retention_period   = 14
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.name_prefix}-db-final"

  tags = merge(local.common_tags, { Name = "@@DB_NAME@@" })
}
