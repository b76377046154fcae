# Needs Terraform 1.6 or later, the oldest this provider is tested with.
terraform {
  required_version = ">= 1.6"

  required_providers {
    thingspace = {
      source  = "verizon/thingspace"
      version = "~> 0.1.0"
    }
  }
}

# Checks base_url and the client credentials with a token request at every plan. It logs in as no user, so it can
# never cost a failed log-in: an expired client secret or a wrong base_url fails a pull request's plan instead of
# the scheduled apply.
data "thingspace_connection" "check" {}

output "thingspace_base_url" {
  value = "${data.thingspace_connection.check.base_url} (from ${data.thingspace_connection.check.base_url_source})"
}
