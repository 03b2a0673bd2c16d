// Building DOM without innerHTML (record text is never parsed as HTML), plus the hazard icons.

const SVG = 'http://www.w3.org/2000/svg';

export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, kids);
  if (value !== undefined) el.value = value;
  return el;
}

export function append(el, kids) {
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

export function replace(el, ...kids) {
  el.replaceChildren();
  return append(el, kids);
}

const PATHS = {
  fire: 'M12 2c1 4 6 6 6 12a6 6 0 0 1-12 0c0-3 2-5 3-8 1 2 2 3 3 4 1-2 1-5 0-8z',
  battery: 'M8 5h8v17H8zM10 2h4v3h-4zM10 8v3h4V8z',
  bolt: 'M13 2 4 14h7l-2 8 9-12h-7z',
  chemical: 'M9 2h6v2h-1v5l6 10a2 2 0 0 1-2 3H6a2 2 0 0 1-2-3l6-10V4H9zm-1 13h8l-2-4h-4z',
  structure: 'M4 22V7l8-5 8 5v15h-6v-6h-4v6zm5-12h2v2H9zm4 0h2v2h-2z',
  blocked: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zM6 10h12v4H6z',
  alert: 'M12 2 1 21h22zm-1 7h2v6h-2zm0 8h2v2h-2z',
};
const KIND = {
  acetylene: 'fire', lpg: 'fire', flammable_liquids: 'fire', compressed_gases: 'fire',
  oxygen: 'fire', explosives: 'fire', lithium_batteries: 'battery', bess: 'battery',
  solar_pv: 'bolt', overhead_power: 'bolt', asbestos: 'chemical', hazardous_chemicals: 'chemical',
  structural_weakness: 'structure', deep_basement: 'structure', combustible_cladding: 'structure',
  scaffolding: 'structure', hoarding: 'structure', confined_space: 'structure', silo: 'structure',
  blocked_access: 'blocked',
};

// A decorative icon: the text label beside it carries the meaning.
export function hazardIcon(type) {
  const kind = KIND[type] || 'alert';
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon icon-${kind}`);
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', PATHS[kind]);
  path.setAttribute('fill-rule', 'evenodd');
  svg.append(path);
  return svg;
}
