# The state backend for examples/ci/github-actions.yml: copy to infra/thingspace/backend.tf and fill in the <...>.
#
# The state must persist between runs and be shared by all of them: after the first rotation only the state knows
# the user's password, and a run that starts from an empty state logs in with the stale seed, fails once and blocks.
# The state holds that password in plain text: keep the bucket private, encrypted and versioned, and let only the
# pipeline and its operators read it. Any remote backend works (azurerm, gcs, http, remote, ...).
#
# Two roles. The apply job's may read and write the state key and its lock file (s3:GetObject, s3:PutObject,
# s3:DeleteObject on <key> and <key>.tflock, s3:ListBucket). The pull-request plan's is read-only: s3:GetObject on
# <key> and s3:ListBucket. Its plan runs with -lock=false, so it never needs more.
terraform {
  backend "s3" {
    bucket       = "<state-bucket>"
    key          = "thingspace/terraform.tfstate"
    region       = "<aws-region>"
    encrypt      = true
    use_lockfile = true
  }
}
