/*
 * fwcfg.c: QEMU's firmware configuration device, read through I/O ports.
 *
 * The test runner passes `-fw_cfg name=opt/test,string=boot` to QEMU, and
 * the kernel reads the file "opt/test" to learn which test scenario to
 * run. One kernel image thus serves every test, with no rebuild.
 */
#include "fwcfg.h"
#include "string.h"
#include "x86.h"
#include <stdint.h>

/**
 * ## The fw_cfg interface
 *
 * fw_cfg is QEMU's way to hand data to firmware. On x86 it is two I/O
 * ports: write a 16-bit *selector* to port 0x510 to choose an item, then
 * read the item's bytes one at a time from port 0x511. Item 0x0000 holds
 * the signature "QEMU", so we can tell whether the device exists at all.
 *
 * On real hardware, though, ports 0x510 and 0x511 may belong to some
 * other chip, and writing a selector there could do anything. So we
 * first ask the CPU: CPUID leaf 1 sets ECX bit 31, the *hypervisor*
 * bit, only inside a virtual machine (Intel and AMD reserve it for that
 * purpose). Without it, we never touch the ports, and the kernel boots
 * as if no test had been asked for. Item 0x0019 is a file
 * directory: a big-endian 32-bit count, then one 64-byte record per
 * file: big-endian size (32 bits), big-endian selector (16 bits), two
 * reserved bytes and a 56-byte NUL-padded name.
 */
#define FWCFG_PORT_SEL 0x510
#define FWCFG_PORT_DATA 0x511
#define FWCFG_SIGNATURE 0x0000
#define FWCFG_FILE_DIR 0x0019
#define FWCFG_NAME_LEN 56

static void fwcfg_select(uint16_t item)
{
	outw(FWCFG_PORT_SEL, item);
}

static void fwcfg_read(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len--)
		*p++ = inb(FWCFG_PORT_DATA);
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

bool fwcfg_present(void)
{
	char sig[4];

	if (!(cpuid(1, 0).ecx & CPUID_01_ECX_HYPERVISOR))
		return false;             /* real hardware: hands off */
	fwcfg_select(FWCFG_SIGNATURE);
	fwcfg_read(sig, sizeof sig);
	return memcmp(sig, "QEMU", 4) == 0;
}

/* Copy at most len bytes of the named file into buf. Returns the file's
 * full size (which may be more than len), or -1 if there is no such file
 * or no fw_cfg device. */
long fwcfg_read_file(const char *name, void *buf, size_t len)
{
	uint8_t count_be[4], rec[8 + FWCFG_NAME_LEN];
	uint32_t count;

	if (!fwcfg_present())
		return -1;
	fwcfg_select(FWCFG_FILE_DIR);
	fwcfg_read(count_be, sizeof count_be);
	count = be32(count_be);
	for (uint32_t i = 0; i < count; i++) {
		fwcfg_read(rec, sizeof rec);
		rec[sizeof rec - 1] = 0;
		if (strcmp((char *)rec + 8, name) != 0)
			continue;
		uint32_t size = be32(rec);
		fwcfg_select((uint16_t)(rec[4] << 8 | rec[5]));
		fwcfg_read(buf, size < len ? size : len);
		return size;
	}
	return -1;
}
