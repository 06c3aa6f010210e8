/*-------------------------------------------------------------------------
 *
 * got_patch.c
 *	  Rewrite Global Offset Table slots of a loaded ELF object.
 *
 * PostgreSQL offers no hook for the protocol of the sockets it creates, and
 * walmptcp must work without a core patch or LD_PRELOAD.  Both the postgres
 * executable and libpq reach socket() through their GOT, so redirecting the
 * slot of one object changes that object's calls and nothing else: other
 * libraries, and walmptcp's own calls, still reach libc directly.
 *
 * Debian links PostgreSQL with BIND_NOW and full RELRO, so every slot is
 * resolved at load time and the GOT is read-only afterwards; page_write.c
 * lifts the protection for the store and puts back exactly what was there.
 *
 * Copyright (c) 2026, the walmptcp authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <link.h>
#include <string.h>

#include "got_patch.h"
#include "page_write.h"

#if defined(__x86_64__)
#define WALMPTCP_R_JUMP_SLOT	R_X86_64_JUMP_SLOT
#define WALMPTCP_R_GLOB_DAT		R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
#define WALMPTCP_R_JUMP_SLOT	R_AARCH64_JUMP_SLOT
#define WALMPTCP_R_GLOB_DAT		R_AARCH64_GLOB_DAT
#else
#error "walmptcp supports x86_64 and aarch64 only"
#endif

typedef struct GotSearch
{
	const char *object;			/* basename prefix, NULL for the executable */
	const char *symbol;
	void	   *replacement;
	int			patched;		/* slots rewritten */
	bool		found_object;
	int			visited;		/* objects seen so far in this walk */
} GotSearch;

/*
 * glibc relocates most d_ptr values of a loaded object in place, but not for
 * every object (the vDSO, some loaders); accept both forms.
 */
static uintptr_t
dyn_address(const struct dl_phdr_info *info, ElfW(Addr) value)
{
	if (value < info->dlpi_addr)
		return info->dlpi_addr + value;
	return value;
}

static bool
object_matches(const struct dl_phdr_info *info, const char *object, bool first)
{
	const char *base;

	if (object == NULL)
		return first;			/* the executable is reported first */
	if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0')
		return false;
	base = strrchr(info->dlpi_name, '/');
	base = base ? base + 1 : info->dlpi_name;
	return strncmp(base, object, strlen(object)) == 0;
}

static int
patch_relocations(const struct dl_phdr_info *info, GotSearch *search,
				  const ElfW(Rela) *rela, size_t count,
				  const ElfW(Sym) *symtab, const char *strtab)
{
	int			patched = 0;

	for (size_t i = 0; i < count; i++)
	{
		unsigned long type = ELF64_R_TYPE(rela[i].r_info);
		unsigned long symidx = ELF64_R_SYM(rela[i].r_info);
		void	  **slot;

		if (type != WALMPTCP_R_JUMP_SLOT && type != WALMPTCP_R_GLOB_DAT)
			continue;
		if (strcmp(strtab + symtab[symidx].st_name, search->symbol) != 0)
			continue;
		slot = (void **) (info->dlpi_addr + rela[i].r_offset);
		if (*slot == search->replacement)
			continue;
		if (walmptcp_write_pointer(slot, search->replacement))
			patched++;
	}
	return patched;
}

static int
patch_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	GotSearch  *search = (GotSearch *) arg;
	bool		first = (search->visited++ == 0);
	const ElfW(Dyn) *dyn = NULL;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const ElfW(Rela) *jmprel = NULL,
			   *rela = NULL;
	size_t		jmprelsz = 0,
				relasz = 0;

	(void) size;
	if (!object_matches(info, search->object, first))
		return 0;
	search->found_object = true;

	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *) (info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	if (dyn == NULL)
		return 1;

	for (; dyn->d_tag != DT_NULL; dyn++)
	{
		switch (dyn->d_tag)
		{
			case DT_SYMTAB:
				symtab = (const ElfW(Sym) *) dyn_address(info, dyn->d_un.d_ptr);
				break;
			case DT_STRTAB:
				strtab = (const char *) dyn_address(info, dyn->d_un.d_ptr);
				break;
			case DT_JMPREL:
				jmprel = (const ElfW(Rela) *) dyn_address(info, dyn->d_un.d_ptr);
				break;
			case DT_PLTRELSZ:
				jmprelsz = dyn->d_un.d_val;
				break;
			case DT_RELA:
				rela = (const ElfW(Rela) *) dyn_address(info, dyn->d_un.d_ptr);
				break;
			case DT_RELASZ:
				relasz = dyn->d_un.d_val;
				break;
		}
	}
	if (symtab == NULL || strtab == NULL)
		return 1;

	if (jmprel)
		search->patched += patch_relocations(info, search, jmprel,
											 jmprelsz / sizeof(ElfW(Rela)),
											 symtab, strtab);
	if (rela)
		search->patched += patch_relocations(info, search, rela,
											 relasz / sizeof(ElfW(Rela)),
											 symtab, strtab);
	return 1;					/* stop: one object per search */
}

/*
 * Point every GOT slot for "symbol" in "object" (a file name prefix such as
 * "libpq.so.5", or NULL for the executable) at "replacement".
 *
 * Returns the number of slots rewritten, 0 when the object does not import
 * the symbol, and -1 when the object is not loaded.
 */
int
walmptcp_patch_got(const char *object, const char *symbol, void *replacement)
{
	GotSearch	search = {object, symbol, replacement, 0, false, 0};

	dl_iterate_phdr(patch_object, &search);
	if (!search.found_object)
		return -1;
	return search.patched;
}
