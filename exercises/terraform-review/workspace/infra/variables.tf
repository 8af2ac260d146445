variable "project" {
  description = "Project name, first part of every resource name."
  type        = string
  default     = "invoicer"
}

variable "environment" {
  description = "Deployment environment (dev, staging, prod)."
  type        = string
  default     = "prod"
}

variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "eu-west-1"
}

variable "owner" {
  description = "Team that owns the stack (Owner tag)."
  type        = string
  default     = "team-billing"
}

variable "cost_center" {
  description = "Finance cost center (CostCenter tag)."
  type        = string
  default     = "cc-4711"
}

variable "vpc_cidr" {
  description = "Address range of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "app_ami_id" {
  description = "AMI of the application, built by the image pipeline."
  type        = string
}

variable "instance_type" {
  description = "EC2 instance type of the application servers."
  type        = string
  default     = "t3.small"
}

variable "certificate_arn" {
  description = "ACM certificate for the public HTTPS listener."
  type        = string
}

variable "db_username" {
  description = "Master user of the Postgres instance."
  type        = string
  default     = "invoicer"
}
#@ if secret_in=variable-default

variable "db_password" {
  description = "Master password of the Postgres instance."
  type        = string
  default     = "@@SECRET@@"
}
#@ end
#@ if ssh_rule=vpc-rule

variable "ssh_cidr" {
  description = "Where engineers connect from over SSH."
  type        = string
  default     = "0.0.0.0/0"
}
#@ end
