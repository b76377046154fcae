# The state backend for examples/ci/gitlab-ci.yml: copy to infra/thingspace/backend.tf.
#
# GitLab-managed Terraform state: the job's TF_HTTP_* variables (in gitlab-ci.yml) give the address and credentials,
# so nothing here needs filling in. The state must persist between pipelines and be shared by all of them: after the
# first rotation only the state knows the user's password, and a run that starts from an empty state logs in with
# the stale seed, fails once and blocks. It holds that password in plain text: only Maintainers should read it.
terraform {
  backend "http" {}
}
