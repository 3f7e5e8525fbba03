/* fwcfg.h: reading QEMU's fw_cfg files (how tests pick a scenario). */
#ifndef FWCFG_H
#define FWCFG_H

#include <stdbool.h>
#include <stddef.h>

bool fwcfg_present(void);
long fwcfg_read_file(const char *name, void *buf, size_t len);

#endif
