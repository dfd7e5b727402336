#ifndef MIMIC_CYAML_SHIM_H
#define MIMIC_CYAML_SHIM_H
#include <yaml.h>
#endif
