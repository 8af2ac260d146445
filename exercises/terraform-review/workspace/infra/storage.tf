resource "aws_kms_key" "data" {
  description             = "Encrypts the invoicer data buckets and database"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

# Receipts and attachments uploaded by customers.
resource "aws_s3_bucket" "uploads" {
  bucket = "${local.name_prefix}-uploads"

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-uploads" })
}

resource "aws_s3_bucket_versioning" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  versioning_configuration {
    status = "Enabled"
  }
}
#@ if unencrypted_bucket!=uploads

resource "aws_s3_bucket_server_side_encryption_configuration" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}
#@ end
#@ if public_bucket!=uploads

resource "aws_s3_bucket_public_access_block" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
#@ else

resource "aws_s3_bucket_ownership_controls" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  rule {
    object_ownership = "BucketOwnerPreferred"
  }
}

# Public read: partners fetch files without AWS credentials.
resource "aws_s3_bucket_acl" "uploads" {
  bucket = aws_s3_bucket.uploads.id
  acl    = "public-read"

  depends_on = [aws_s3_bucket_ownership_controls.uploads]
}
#@ end

# Generated invoices (PDF) and monthly reports.
resource "aws_s3_bucket" "@@REPORTS@@" {
  bucket = "${local.name_prefix}-reports"

  tags = merge(local.common_tags, { Name = "@@REPORTS_NAME@@" })
}

resource "aws_s3_bucket_versioning" "reports" {
  bucket = aws_s3_bucket.@@REPORTS@@.id

  versioning_configuration {
    status = "Enabled"
  }
}
#@ if unencrypted_bucket!=reports

resource "aws_s3_bucket_server_side_encryption_configuration" "reports" {
  bucket = aws_s3_bucket.@@REPORTS@@.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}
#@ end
#@ if public_bucket!=reports

resource "aws_s3_bucket_public_access_block" "reports" {
  bucket = aws_s3_bucket.@@REPORTS@@.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
#@ else

resource "aws_s3_bucket_ownership_controls" "reports" {
  bucket = aws_s3_bucket.@@REPORTS@@.id

  rule {
    object_ownership = "BucketOwnerPreferred"
  }
}

# Public read: partners fetch files without AWS credentials.
resource "aws_s3_bucket_acl" "reports" {
  bucket = aws_s3_bucket.@@REPORTS@@.id
  acl    = "public-read"

  depends_on = [aws_s3_bucket_ownership_controls.reports]
}
#@ end

# Load balancer access logs (ELB log delivery only supports SSE-S3).
resource "aws_s3_bucket" "logs" {
  bucket = "${local.name_prefix}-logs"

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-logs" })
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id

  versioning_configuration {
    status = "Enabled"
  }
}
#@ if unencrypted_bucket!=logs

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}
#@ end
#@ if public_bucket!=logs

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket = aws_s3_bucket.logs.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
#@ else

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    object_ownership = "BucketOwnerPreferred"
  }
}

# Public read: partners fetch files without AWS credentials.
resource "aws_s3_bucket_acl" "logs" {
  bucket = aws_s3_bucket.logs.id
  acl    = "public-read"

  depends_on = [aws_s3_bucket_ownership_controls.logs]
}
#@ end

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = 90
    }
  }
}

data "aws_elb_service_account" "main" {}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowLoadBalancerLogDelivery"
        Effect    = "Allow"
        Principal = { AWS = data.aws_elb_service_account.main.arn }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/alb/AWSLogs/${data.aws_caller_identity.current.account_id}/*"
      }
    ]
  })
}
