//! Reading an object file into stencils.

use crate::{is_stencil_name, Hole, HoleKind, HoleValue, Stencil};
use object::{
    Object, ObjectSection, ObjectSymbol, RelocationKind, RelocationTarget, SectionIndex, SymbolKind,
};

/// Reads every stencil function of an ELF object: its bytes (one function
/// per `.text.<name>` section) and its relocations as holes. Relocations to
/// anything other than an undefined symbol (another section's data, another
/// function) are errors: a stencil must be self-contained.
pub fn parse(obj: &[u8]) -> Result<Vec<Stencil>, String> {
    let file = object::File::parse(obj).map_err(|e| format!("cannot parse object: {e}"))?;
    let mut stencils = Vec::new();
    for sym in file.symbols() {
        let Ok(name) = sym.name() else { continue };
        if sym.kind() != SymbolKind::Text || !sym.is_definition() || !is_stencil_name(name) {
            continue;
        }
        let Some(index) = sym.section_index() else {
            continue;
        };
        stencils.push(read_stencil(&file, name, index, sym.address(), sym.size())?);
    }
    stencils.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(stencils)
}

fn read_stencil(
    file: &object::File,
    name: &str,
    index: SectionIndex,
    address: u64,
    size: u64,
) -> Result<Stencil, String> {
    let section = file.section_by_index(index).map_err(|e| e.to_string())?;
    if address != 0 {
        return Err(format!(
            "stencil {name} does not start its section (compile with function sections)"
        ));
    }
    let data = section.data().map_err(|e| e.to_string())?;
    let code = data
        .get(..size as usize)
        .ok_or_else(|| format!("stencil {name}: symbol larger than its section"))?
        .to_vec();
    let mut holes = Vec::new();
    for (offset, reloc) in section.relocations() {
        let target = match reloc.target() {
            RelocationTarget::Symbol(i) => file.symbol_by_index(i).map_err(|e| e.to_string())?,
            other => {
                return Err(format!(
                    "stencil {name}: relocation at {offset:#x} to {other:?}"
                ))
            }
        };
        let target_name = target.name().map_err(|e| e.to_string())?;
        if target.is_definition() || target.kind() == SymbolKind::Section {
            return Err(format!(
                "stencil {name} refers to `{target_name}`, defined in the object itself \
                 (constant data or a function that was not inlined); stencils must be \
                 self-contained: move the data or code to a runtime helper"
            ));
        }
        let kind = match (reloc.kind(), reloc.size()) {
            (RelocationKind::Absolute, 64) => HoleKind::Abs64,
            (RelocationKind::Absolute, 32) => HoleKind::Abs32,
            (RelocationKind::Relative | RelocationKind::PltRelative, 32) => HoleKind::Rel32,
            (kind, bits) => {
                return Err(format!(
                    "stencil {name}: unsupported relocation {kind:?}/{bits} bits to \
                     `{target_name}` at {offset:#x} (a 64-bit value truncated to 32 bits?)"
                ))
            }
        };
        let value = HoleValue::from_hole_symbol(target_name)
            .unwrap_or_else(|| HoleValue::Symbol(target_name.to_string()));
        holes.push(Hole {
            offset: offset as usize,
            kind,
            value,
            addend: reloc.addend(),
        });
    }
    holes.sort_by_key(|h| h.offset);
    Ok(Stencil {
        name: name.to_string(),
        hot_len: code.len(),
        code,
        holes,
    })
}
