// Internal to base: the O_DIRECT writable file behind WritableFileOptions.
#pragma once

#include <memory>
#include <string>

#include "base/env.h"

namespace as {

// A null pointer (with OK status) means the file system does not support
// O_DIRECT; the caller falls back to a buffered file.
Result<std::unique_ptr<WritableFile>> NewDirectWritableFile(const std::string& path);

}  // namespace as
