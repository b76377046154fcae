# One ThingSpace API user per department, each rotated on its own and delivered to its own secret path, so a
# device's provisioning history shows which department made each change (the ThingSpace documentation's second
# credential strategy). A failure in one department blocks only that department's user: Terraform applies the others,
# their secrets included, and the run fails loudly for the one that needs attention.
#
# One module block per department, not a for_each: Terraform links a dependent resource to every instance of a
# for_each (of a resource or a module), so one blocked department's error would keep every department's new password
# out of Secrets Manager, while ThingSpace already holds it (README.md). Separate module blocks are separate in the
# graph. Add a department by adding a block.

terraform {
  required_version = ">= 1.11"

  required_providers {
    thingspace = {
      source  = "verizon/thingspace"
      version = "~> 0.1.0"
    }
    aws = {
      source = "hashicorp/aws"
    }
  }
}

# One CI secret per department (for example THINGSPACE_SEED_PROVISIONING), gathered into this map by the pipeline
# (see README.md). Needed only for a department's first apply and its re-seeds; write-only, never stored.
variable "seeds" {
  description = "Each department's password before Terraform manages it, by department name (TF_VAR_seeds)."
  type        = map(string)
  sensitive   = true
  ephemeral   = true
  default     = {}
}

# Re-seed one department by moving its number (with its seed in TF_VAR_seeds): the others are untouched.
variable "seed_versions" {
  description = "Each department's current_password_wo_version; a department not listed uses 1."
  type        = map(number)
  default     = {}
}

module "provisioning" {
  source       = "./department"
  department   = "provisioning"
  username     = "svc-provisioning"
  seed         = lookup(var.seeds, "provisioning", null)
  seed_version = lookup(var.seed_versions, "provisioning", 1)
}

module "billing" {
  source       = "./department"
  department   = "billing"
  username     = "svc-billing"
  seed         = lookup(var.seeds, "billing", null)
  seed_version = lookup(var.seed_versions, "billing", 1)
}

module "support" {
  source       = "./department"
  department   = "support"
  username     = "svc-support"
  seed         = lookup(var.seeds, "support", null)
  seed_version = lookup(var.seed_versions, "support", 1)
}
