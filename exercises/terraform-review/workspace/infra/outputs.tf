output "lb_dns_name" {
  description = "Public DNS name of the load balancer."
  value       = aws_lb.app.dns_name
}

output "db_endpoint" {
  description = "Postgres endpoint for the application's configuration."
  value       = aws_db_instance.@@DB@@.address
}

output "bucket_names" {
  description = "Names of the data buckets."
  value = {
    uploads = aws_s3_bucket.uploads.bucket
    reports = aws_s3_bucket.@@REPORTS@@.bucket
    logs    = aws_s3_bucket.logs.bucket
  }
}
