# Database: RDS PostgreSQL in the private subnets. Encrypted storage, no public
# address, TLS forced, automated backups. The master password is generated and
# rotated by RDS in Secrets Manager (the dashboard reads it to run migrations);
# the processor Lambda logs in with IAM database authentication, so it needs no
# secret and no Secrets Manager endpoint in the NAT-less VPC.

locals {
  identifier    = "${var.name}-db"
  major_version = split(".", var.engine_version)[0]
  # RDS refuses a maximum that is not at least 10 % above the allocated
  # storage ("must be increased by at least 10 percent"), so a maximum at
  # or too close to allocated_storage is raised to 125 % of it (rounded up).
  max_allocated_storage = var.max_allocated_storage == 0 ? 0 : max(var.max_allocated_storage, ceil(var.allocated_storage * 1.25))
}

resource "aws_db_subnet_group" "this" {
  name        = local.identifier
  description = "Private subnets of ${var.name}"
  subnet_ids  = var.subnet_ids
}

# No egress rules: the database starts no connections.
resource "aws_security_group" "this" {
  name        = "${var.name}-db"
  description = "PostgreSQL, reachable from the Flytrap processor and dashboard only"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${var.name}-db"
  }
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each = var.client_security_group_ids

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.value
}

resource "aws_db_parameter_group" "this" {
  name        = "${local.identifier}-pg${local.major_version}"
  family      = "postgres${local.major_version}"
  description = "Flytrap PostgreSQL ${local.major_version}"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000" # log statements slower than 1 s
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "this" {
  identifier     = local.identifier
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  allocated_storage     = var.allocated_storage
  max_allocated_storage = local.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true

  db_name                             = var.db_name
  username                            = var.master_username
  manage_master_user_password         = true
  iam_database_authentication_enabled = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  publicly_accessible    = false
  multi_az               = var.multi_az
  parameter_group_name   = aws_db_parameter_group.this.name

  backup_retention_period    = var.backup_retention_days
  backup_window              = "03:00-03:30"
  maintenance_window         = "sun:04:00-sun:04:30"
  copy_tags_to_snapshot      = true
  auto_minor_version_upgrade = true
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = false
  # Unique per database: the creation time, fixed by ignore_changes, so a
  # deployment of the same name created again later can be destroyed
  # while the first one's snapshot is still kept.
  final_snapshot_identifier = "${local.identifier}-final-${formatdate("YYYYMMDDhhmmss", timestamp())}"

  # What flytrap.yaml can change (class, storage, deletion protection) is
  # applied by this apply, not in the Sunday window: otherwise the change
  # stays pending and every later plan shows it again. Engine minor versions
  # still move only in the maintenance window (auto_minor_version_upgrade).
  # The deploy lists each change with its timing (internal/deploy
  # DatabaseChanges), so a class change's restart is never a surprise.
  apply_immediately = true

  lifecycle {
    ignore_changes = [final_snapshot_identifier]
  }
}
