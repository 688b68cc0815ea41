variable "source_dir" {
  description = "Absolute path of the directory holding main.py, requirements.txt and functions/ (the repository root)."
  type        = string
  nullable    = false

  validation {
    condition     = fileexists("${var.source_dir}/main.py") && fileexists("${var.source_dir}/requirements.txt")
    error_message = "source_dir must hold main.py and requirements.txt (the repository root)."
  }
}
