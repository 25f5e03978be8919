import { Controller, Get, NotFoundException, Param } from '@nestjs/common';

const PRODUCTS = [
  { id: 1, name: 'Mug', price: 8 },
  { id: 2, name: 'Sticker pack', price: 4 },
];

@Controller('products')
export class ProductsController {
  @Get()
  findAll() {
    return PRODUCTS;
  }

  @Get(':id')
  findOne(@Param('id') id: string) {
    const product = PRODUCTS.find((p) => p.id === Number(id));
    if (!product) throw new NotFoundException();
    return product;
  }
}
