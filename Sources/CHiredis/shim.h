#ifndef MIMIC_CHIREDIS_SHIM_H
#define MIMIC_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
