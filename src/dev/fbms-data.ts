/**
 * Word lists the FBMS fixture draws from (src/dev/fbms-seed.ts). Filipino names, places and
 * store goods, with the ñ and é that encoding bugs love to eat.
 */
export const firstNames = [
  'Juan', 'María', 'José', 'Ana', 'Pedro', 'Rosario', 'Ramón', 'Luz', 'Andrés', 'Teresita',
  'Carlo', 'Nenita', 'Bong', 'Marites', 'Jun-Jun', 'Liza', 'Rogelio', 'Imelda', 'Niño', 'Corazon',
  'Jhay-ar', 'Princess', 'Mark Anthony', 'Kristine', 'Dodong', 'Inday', 'Toñeth', 'Efrén',
];

export const lastNames = [
  'Dela Cruz', 'Santos', 'Reyes', 'Garcia', 'Mendoza', 'Bautista', 'Ocampo', 'Villanueva',
  'Aquino', 'Castillo', 'Ramos', 'Peña', 'Macaraeg', 'Dimaculangan', 'Magbanua', 'Sarmiento',
  'Quiñones', 'Ibañez', 'Tolentino', 'Pangilinan', 'Salazar', 'Dizon', 'Manalo', 'Batumbakal',
];

export const barangays = [
  'Brgy. San Antonio', 'Brgy. Poblacion', 'Brgy. Malinta', 'Brgy. Santo Niño', 'Brgy. Bagong Silang',
  'Brgy. Kamuning', 'Brgy. Lahug', 'Brgy. Talamban', 'Brgy. Bagumbayan', 'Brgy. Pinagbuhatan',
  'Brgy. Sampaloc', 'Brgy. Mabolo', 'Brgy. Dos Castillas', 'Brgy. Buhangin',
];

/** City and province pairs. */
export const cities = [
  'Quezon City|Metro Manila', 'Makati|Metro Manila', 'Pasig|Metro Manila', 'Parañaque|Metro Manila',
  'Las Piñas|Metro Manila', 'Cebu City|Cebu', 'Mandaue|Cebu', 'Davao City|Davao del Sur',
  'Iloilo City|Iloilo', 'Baguio|Benguet', 'Dasmariñas|Cavite', 'San Fernando|Pampanga',
  'Bacolod|Negros Occidental', 'Cagayan de Oro|Misamis Oriental',
];

/** Product name and category pairs (sari-sari store and grocery staples). */
export const products = [
  'Lucky Me Pancit Canton Kalamansi|Noodles', 'Nissin Cup Noodles Seafood|Noodles',
  'Kopiko Brown Coffee Twin Pack|Coffee', 'Nescafé Classic 50g|Coffee', 'Great Taste White 3-in-1|Coffee',
  'Bear Brand Fortified 320g|Dairy', 'Alaska Evaporada 370ml|Dairy', 'Magnolia Fresh Milk 1L|Dairy',
  'Century Tuna Flakes in Oil|Canned goods', 'Argentina Corned Beef 150g|Canned goods',
  'Ligo Sardines Tomato Sauce|Canned goods', 'Purefoods Tender Juicy Hotdog 1kg|Frozen',
  'Skyflakes Crackers 10s|Snacks', 'Rebisco Sandwich Cracker|Snacks', 'Piattos Cheese 85g|Snacks',
  'Chippy BBQ|Snacks', 'Coke Mismo 300ml|Beverages', 'Royal Tru-Orange 1.5L|Beverages',
  'San Miguel Pale Pilsen 330ml|Beverages', 'Red Horse Stallion 500ml|Beverages',
  'Datu Puti Suka 1L|Condiments', 'Silver Swan Toyo 1L|Condiments', 'Mang Tomas All-Purpose Sauce|Condiments',
  'UFC Banana Catsup 320g|Condiments', 'Sinandomeng Rice 5kg|Rice', 'Jasmine Rice 25kg|Rice',
  'Itlog (Large, per tray)|Fresh', 'Pandesal (10 pcs)|Bakery', 'Gardenia Classic White Loaf|Bakery',
  'Safeguard Pure White 135g|Personal care', 'Palmolive Shampoo Sachet 12s|Personal care',
  'Colgate Great Regular 150ml|Personal care', 'Surf Powder Detergent 1kg|Household',
  'Joy Dishwashing Liquid 250ml|Household', 'Smart Load ₱50|E-load', 'GCash Cash-in Fee|Services',
];

/** Expense category, chart-of-accounts code and typical vendors. */
export const expenseKinds = [
  'Kuryente|5000|Meralco', 'Tubig|5000|Maynilad', 'Upa (rent)|5100|Gng. Ibañez (landlady)',
  'Sahod (salaries)|5200|Payroll', 'Internet|5300|PLDT Home Fiber', 'Supplies|5300|Puregold',
  'Delivery|5300|Lalamove', 'Repairs|5300|Mang Kanor Welding', 'Permits|5300|City Hall BPLO',
];

export const saleNotes = [
  'Salamat po!', 'Suki discount', 'Utang — bayad sa Biyernes', 'Senior citizen (20% off on select items)',
  'PWD discount', 'Walk-in', 'Pick-up mamayang hapon', 'Para kay Aling Nena',
];

export const customerTags = ['suki', 'wholesale', 'senior', 'pwd', 'online', 'reseller', 'barangay-official'];

export const productTags = ['bestseller', 'imported', 'local', 'promo', 'perishable', 'tingi'];

/** An SQL ARRAY[...]::text[] literal; single quotes are doubled, nothing else needs escaping. */
export function sqlTextArray(values: readonly string[]): string {
  return `ARRAY[${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', ')}]::text[]`;
}
