terraform {
  # 1.6 is the oldest Terraform this provider is tested with; current_password_wo needs 1.11.
  required_version = ">= 1.6"

  required_providers {
    thingspace = {
      source  = "verizon/thingspace"
      version = "~> 0.1.0"
    }
  }
}

# Credentials are best left out of the configuration: the provider reads THINGSPACE_CLIENT_ID and
# THINGSPACE_CLIENT_SECRET (the ThingSpace project's app key and secret) from the environment, which is where CI
# systems put secrets. base_url defaults to THINGSPACE_BASE_URL, then to https://thingspace.verizon.com.
provider "thingspace" {
  # Each HTTP request to ThingSpace gives up after this long, so a hung connection cannot hang an apply.
  request_timeout = "30s"
}
