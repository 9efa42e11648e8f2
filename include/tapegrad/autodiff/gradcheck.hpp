// gradcheck moved above the ops it calls: its header is now
// tapegrad/checks/gradcheck.hpp. This path is kept so that users' includes
// keep working (scripts/include_exceptions.txt lists it).
#pragma once

#include "tapegrad/checks/gradcheck.hpp"
