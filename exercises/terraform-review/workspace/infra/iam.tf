# The application instances' role: object storage, logs and configuration.
resource "aws_iam_role" "app" {
  name = "${local.name_prefix}-app"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = "ec2.amazonaws.com" }
        Action    = "sts:AssumeRole"
      }
    ]
  })

  tags = local.common_tags
}

resource "aws_iam_instance_profile" "app" {
  name = "${local.name_prefix}-app"
  role = aws_iam_role.app.name
}

# Session Manager: how engineers get a shell on the instances.
resource "aws_iam_role_policy_attachment" "app_ssm" {
  role       = aws_iam_role.app.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_role_policy" "app_storage" {
  name = "${local.name_prefix}-app-storage"
  role = aws_iam_role.app.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
#@ if wildcard_policy=storage
      {
        # TODO: narrow down once the importer is rewritten
        Sid      = "AppStorage"
        Effect   = "Allow"
        Action   = ["s3:*", "kms:*"]
        Resource = "*"
      }
#@ else
      {
        Sid      = "ReadWriteObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = ["${aws_s3_bucket.uploads.arn}/*", "${aws_s3_bucket.@@REPORTS@@.arn}/*"]
      },
      {
        Sid      = "ListBuckets"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = [aws_s3_bucket.uploads.arn, aws_s3_bucket.@@REPORTS@@.arn]
      },
      {
        Sid      = "UseDataKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [aws_kms_key.data.arn]
      }
#@ end
    ]
  })
}

resource "aws_iam_policy" "app_logs" {
  name        = "${local.name_prefix}-app-logs"
  description = "Ship application logs to CloudWatch Logs"

#@ if wildcard_policy=logs
  policy = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ShipLogs",
          "Effect": "Allow",
          "Action": "*",
          "Resource": "*"
        }
      ]
    }
  EOT
#@ else
  policy = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "ShipLogs",
          "Effect": "Allow",
          "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
          "Resource": "${aws_cloudwatch_log_group.app.arn}:*"
        }
      ]
    }
  EOT
#@ end
}

resource "aws_iam_role_policy_attachment" "app_logs" {
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.app_logs.arn
}

data "aws_iam_policy_document" "app_parameters" {
  statement {
    sid = "ReadConfiguration"
#@ if wildcard_policy=parameters
    actions   = ["*"]
    resources = ["*"]
#@ else
    actions = ["ssm:GetParameter", "ssm:GetParametersByPath"]
    resources = [
      "arn:aws:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter/${var.project}/${var.environment}/*",
    ]
#@ end
  }
}

resource "aws_iam_policy" "app_parameters" {
  name        = "${local.name_prefix}-app-parameters"
  description = "Read the application's configuration from the parameter store"
  policy      = data.aws_iam_policy_document.app_parameters.json
}

resource "aws_iam_role_policy_attachment" "app_parameters" {
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.app_parameters.arn
}
